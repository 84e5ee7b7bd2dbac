import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';

import { OwnerEvents } from '../../cluster/owner-events';
import { BackgroundJobs } from '../../common/background-jobs';
import { AppException } from '../../common/errors/app.exception';
import { AppConfig } from '../../config/app-config';
import { ConfigError } from '../../config/env';
import { LlmService } from '../../llm/llm.service';
import { MetricsService } from '../../metrics/metrics.service';
import { toConversationEvent } from '../conversation.mapper';
import { parseTitleReply, titleMessages } from './title-prompt';
import { ConversationUpdate, TitlesRepository } from './titles.repository';

/** The exchange a title is written from. */
export interface TitleRequest {
  conversationId: string;
  /** The alias that answered; titles use it unless TITLE_MODEL names another. */
  alias: string;
  userText: string;
  replyText: string;
}

/** Short and cool: a title is a label, not an essay (room left for a reasoning model). */
const TITLE_PARAMS = { temperature: 0.2, maxTokens: 256 };

/**
 * Names untitled conversations after a reply, in the background: a short LLM call with its
 * own timeout writes a title and topic tags. It never delays or fails the turn that asked;
 * a failure is logged and counted and the title stays null (the next reply tries again).
 */
@Injectable()
export class TitleWriter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(TitleWriter.name);
  private readonly jobs = new BackgroundJobs();

  constructor(
    private readonly llm: LlmService,
    private readonly titles: TitlesRepository,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    private readonly events: OwnerEvents,
  ) {}

  onModuleInit(): void {
    const alias = this.config.get('TITLE_MODEL');
    if (alias && !this.llm.isKnown(alias))
      throw new ConfigError(
        `TITLE_MODEL=${alias}: no such model alias (see GET /api/v1/models or MODELS_FILE)`,
      );
  }

  /** Starts naming the conversation if it has no title; `onTitled` gets the written title. */
  afterReply(request: TitleRequest, onTitled: (update: ConversationUpdate) => void): void {
    if (!this.config.get('TITLES')) return;
    this.jobs.run((signal) =>
      this.write(request, signal)
        .then((update) => update && onTitled(update))
        .catch((error: unknown) => this.failed(request, error)),
    );
  }

  private async write(
    request: TitleRequest,
    stop: AbortSignal,
  ): Promise<ConversationUpdate | undefined> {
    if (!(await this.titles.isUntitled(request.conversationId))) return undefined;
    const signal = AbortSignal.any([
      stop,
      AbortSignal.timeout(this.config.get('TITLE_TIMEOUT_MS')),
    ]);
    const model = this.llm.resolve(this.config.get('TITLE_MODEL') ?? request.alias);
    let reply = '';
    for await (const chunk of this.llm.generate({
      model,
      messages: titleMessages(request.userText, request.replyText),
      params: TITLE_PARAMS,
      mode: 'complete',
      signal,
    }))
      if (chunk.type === 'delta') reply += chunk.text;
    const title = parseTitleReply(reply);
    if (!title) throw new AppException('provider_error', 'The model answered without a title');
    const written = await this.titles.writeGenerated(request.conversationId, title);
    this.metrics.recordTitle(written ? 'written' : 'kept');
    if (!written) return undefined;
    this.events.publish(written.ownerId, 'conversation.updated', toConversationEvent(written.row));
    return written.update;
  }

  private failed(request: TitleRequest, error: unknown): void {
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    const code = timedOut
      ? 'title_timeout'
      : error instanceof AppException
        ? error.code
        : this.jobs.stopping
          ? 'server_shutdown'
          : 'internal_error';
    this.metrics.recordTitle(code);
    this.logger.warn(
      { err: error, conversationId: request.conversationId, code },
      'could not write a title; it stays empty',
    );
  }

  /** Calls still running when the process stops are abandoned (the title stays empty). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.jobs.stop(new AppException('server_shutdown', 'Stopping'));
  }
}
