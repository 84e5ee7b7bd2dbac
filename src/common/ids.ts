import { v7 } from 'uuid';

/** Time-ordered UUID (v7): new rows land at the end of the primary-key index. */
export const newId = (): string => v7();
