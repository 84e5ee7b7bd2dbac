import { Module } from '@nestjs/common';

import { HistoryRepository } from './history.repository';

/**
 * The conversation's stored tree, below every feature room: the Message row, the path
 * walk, memory marks, the context manifest and the history window a prompt reads.
 */
@Module({ providers: [HistoryRepository], exports: [HistoryRepository] })
export class HistoryModule {}
