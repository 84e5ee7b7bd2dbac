import { ToolsModule } from '../tools';
import { Module } from '@nestjs/common';

import { FilesModule } from '../files';
import { HistoryModule } from '../history/history.module';
import { LlmModule } from '../llm/llm.module';
import { ConversationsController } from './conversations.controller';
import { ConversationsRepository } from './conversations.repository';
import { ConversationsService } from './conversations.service';
import { AccountExportController } from './export/account-export.controller';
import { AccountExportService } from './export/account-export.service';
import { ConversationExportController } from './export/conversation-export.controller';
import { ConversationExportRepository } from './export/conversation-export.repository';
import { ConversationExportService } from './export/conversation-export.service';
import { RetentionRepository } from './retention/retention.repository';
import { RetentionService } from './retention/retention.service';
import { ConversationSearchRepository } from './search/conversation-search.repository';
import { OwnerBackfillRepository } from './search/owner-backfill.repository';
import { OwnerBackfillService } from './search/owner-backfill.service';
import { SearchIndexRepository } from './search/search-index.repository';
import { SearchIndexMerger } from './search/search-index-merger';
import { TitleWriter } from './titles/title-writer';
import { TitlesRepository } from './titles/titles.repository';

@Module({
  imports: [HistoryModule, LlmModule, ToolsModule, FilesModule],
  controllers: [ConversationsController, ConversationExportController, AccountExportController],
  providers: [
    ConversationsService,
    ConversationsRepository,
    ConversationSearchRepository,
    OwnerBackfillRepository,
    OwnerBackfillService,
    SearchIndexRepository,
    SearchIndexMerger,
    ConversationExportService,
    ConversationExportRepository,
    AccountExportService,
    RetentionService,
    RetentionRepository,
    TitleWriter,
    TitlesRepository,
  ],
  exports: [ConversationsService, ConversationsRepository, TitleWriter],
})
export class ConversationsModule {}
