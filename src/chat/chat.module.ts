import { Module } from '@nestjs/common';

import { ConversationsModule } from '../conversations';
import { FilesModule } from '../files';
import { LlmModule } from '../llm/llm.module';
import { MemoryModule } from '../memory';
import { PromptsModule } from '../prompts/prompts.module';
import { ToolsModule } from '../tools';
import { BranchesController } from './branches.controller';
import { ToolResultsController } from './tool-results.controller';
import { ChatController } from './chat.controller';
import { ChatService } from './chat.service';
import { OwnerEventsController } from './owner-events.controller';
import { TurnRegistry } from './turn-registry';
import { TurnLease } from './turn-lease';
import { TurnRelay } from './turn-relay';
import { TurnRelayRepository } from './turn-relay.repository';
import { TurnRunner } from './turn-runner';
import { TurnLeaseRepository } from './turn-lease.repository';
import { TurnsRepository } from './turns.repository';

/** The write side of a conversation: turns, whole or streamed, and their control. */
@Module({
  imports: [ConversationsModule, FilesModule, LlmModule, PromptsModule, MemoryModule, ToolsModule],
  controllers: [ChatController, BranchesController, ToolResultsController, OwnerEventsController],
  providers: [
    ChatService,
    TurnRunner,
    TurnLease,
    TurnLeaseRepository,
    TurnRelay,
    TurnRelayRepository,
    TurnsRepository,
    TurnRegistry,
  ],
  exports: [ChatService],
})
export class ChatModule {}
