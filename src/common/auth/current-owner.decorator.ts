import { createParamDecorator } from '@nestjs/common';

/** The single owner of every conversation until authentication assigns real ones. */
export const LOCAL_OWNER = 'local';

/** The owner the request acts for; every query is scoped by it. */
export const CurrentOwner = createParamDecorator((): string => LOCAL_OWNER);
