import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';

import { BackgroundJobs } from '../common/background-jobs';
import { AppConfig } from '../config/app-config';
import { ConfigError } from '../config/env';
import { LlmService, ResolvedModel } from '../llm/llm.service';
import { MetricsService } from '../metrics/metrics.service';
import { splitThinking } from '../prompts/think-splitter';
import type { SummaryPlan } from '../history/context-manifest';
import type { LeftOut, WindowMessage } from '../history/memory-mark';
import { MemoryRepository } from './memory.repository';
import {
  fitSummary,
  SUMMARY_PROMPT_OVERHEAD,
  summaryRequest,
  summaryWindowNeeded,
  takeBatch,
} from './summary-prompt';

/**
 * Rounds one job may fold (each one model call): a long backlog (a conversation older
 * than summaries, a lowered window) is caught up over the next turns rather than at once.
 */
const ROUNDS_PER_JOB = 4;
/** Messages read per round; the token budget usually takes fewer. */
const ROWS_PER_ROUND = 200;
/** A lease outlives the job's timeout by this much, so a slow release never frees it early. */
const LEASE_MARGIN_MS = 5000;

/**
 * Where a job folds to: the messages of the path ending at `lastId` (the turn's history
 * ended there) before `beforeSeq`, which the last turn left out.
 */
interface FoldTarget {
  conversationId: string;
  alias: string;
  lastId: string | null;
  beforeSeq: number;
}

/** No seq bound: every message of the path. */
const ANY_SEQ = 2_147_483_647;

/**
 * Rolling summaries. After a turn whose window left messages out, folds them into the
 * conversation's summary in the background (old summary + newly dropped messages → new
 * summary, stored as a memory mark on the last message folded). One job at a time per
 * conversation across replicas (a lease on the conversation row); a failure is logged and
 * counted, and turns go on with the summary they had.
 */
@Injectable()
export class MemoryService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(MemoryService.name);
  private readonly jobs = new BackgroundJobs();

  constructor(
    private readonly memory: MemoryRepository,
    private readonly llm: LlmService,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  /** A SUMMARY_MODEL nobody defined stops the start, as an unknown DEFAULT_MODEL does. */
  onModuleInit(): void {
    const alias = this.config.get('SUMMARY_MODEL');
    if (alias !== undefined && !this.llm.isKnown(alias)) {
      const known = this.llm.registry.all().map((a) => a.alias);
      throw new ConfigError(
        `SUMMARY_MODEL=${alias} is not a known alias; known: ${known.join(', ')}`,
      );
    }
  }

  /**
   * Called once a turn has ended; returns at once. `lastId`: where the turn's history
   * ended (the parent of its user message); `leftOut`: what its window did not send.
   */
  afterTurn(conversationId: string, alias: string, lastId: string | null, leftOut: LeftOut): void {
    if (this.config.get('SUMMARIES') === 'off' || leftOut.omitted === 0) return;
    const beforeSeq = leftOut.firstSeq ?? ANY_SEQ;
    this.jobs.run((signal) => this.summarize({ conversationId, alias, lastId, beforeSeq }, signal));
  }

  /**
   * The alias that writes the summaries of a conversation on `alias`: SUMMARY_MODEL or the
   * conversation's own, else (too small a window) the configured alias with the largest
   * window, else none, with the reason, shown in GET …/context and each reply's manifest.
   */
  summaryPlan(alias: string): SummaryPlan {
    if (this.config.get('SUMMARIES') === 'off')
      return { summaryModel: null, note: 'Summaries are off (SUMMARIES=off)' };
    const wanted = this.llm.resolve(this.config.get('SUMMARY_MODEL') ?? alias);
    const maxTokens = this.config.get('SUMMARY_MAX_TOKENS');
    const needed = summaryWindowNeeded(maxTokens);
    if (wanted.contextWindow >= needed) return { summaryModel: wanted.alias, note: null };
    const tooSmall = `${wanted.alias}'s ${wanted.contextWindow}-token window is too small to write a summary (one needs ${needed} tokens with SUMMARY_MAX_TOKENS=${maxTokens})`;
    const largest = this.llm.registry
      .all()
      .filter((a) => a.contextWindow >= needed && this.llm.isConfigured(a.alias))
      .sort((a, b) => b.contextWindow - a.contextWindow)[0];
    if (largest)
      return { summaryModel: largest.alias, note: `${tooSmall}: summaries use ${largest.alias}` };
    return {
      summaryModel: null,
      note: `${tooSmall}, and no configured alias has one that large: messages that fall out of the window are not summarised. Set SUMMARY_MODEL to a larger alias or lower SUMMARY_MAX_TOKENS`,
    };
  }

  /** Stops running jobs (their model calls are aborted) before the database goes away. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.jobs.stop(new Error('the server is shutting down'));
  }

  /** One job; never throws. */
  async summarize(target: FoldTarget, signal: AbortSignal): Promise<void> {
    const timeoutMs = this.config.get('SUMMARY_TIMEOUT_MS');
    const { conversationId } = target;
    let leased = false;
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new Error(`gave up after SUMMARY_TIMEOUT_MS (${timeoutMs} ms)`)),
      timeoutMs,
    );
    try {
      leased = await this.memory.takeLease(conversationId, timeoutMs + LEASE_MARGIN_MS);
      if (!leased) return this.metrics.recordSummaryJob('busy');
      const folded = await this.fold(target, AbortSignal.any([signal, timeout.signal]));
      this.metrics.recordSummaryJob('stored', folded);
    } catch (error) {
      this.metrics.recordSummaryJob('failed');
      this.logger.warn(
        { err: error, conversationId },
        'summary job failed; turns go on with the summary they had',
      );
    } finally {
      clearTimeout(timer);
      if (leased) await this.release(conversationId);
    }
  }

  /** Folds round by round until nothing before the target is left; how many messages it folded. */
  private async fold(target: FoldTarget, signal: AbortSignal): Promise<number> {
    const { conversationId, lastId, beforeSeq } = target;
    const plan = this.summaryPlan(target.alias);
    if (!plan.summaryModel) throw new Error(plan.note ?? 'no alias can write summaries');
    const model = this.llm.resolve(plan.summaryModel);
    const maxTokens = this.config.get('SUMMARY_MAX_TOKENS');
    let folded = 0;
    for (let round = 0; round < ROUNDS_PER_JOB; round++) {
      const mark = await this.memory.newestMark(conversationId, lastId, beforeSeq);
      const previous = mark?.kind === 'summary' ? mark : null;
      const pending = await this.memory.messagesOnPath(
        conversationId,
        lastId,
        { afterSeq: mark?.seq ?? -1, beforeSeq },
        ROWS_PER_ROUND,
      );
      if (pending.length === 0) break;
      const budget =
        model.contextWindow - maxTokens - SUMMARY_PROMPT_OVERHEAD - (previous?.tokenCount ?? 0);
      if (budget <= 0)
        throw new Error(`${model.alias} has too small a context window to write summaries`);
      const batch = takeBatch(pending, budget);
      const written = await this.write(model, previous?.content ?? null, batch, signal);
      const { content, tokenCount } = await fitSummary(written, maxTokens);
      const last = batch[batch.length - 1];
      const stored = await this.memory.storeSummary({
        conversationId,
        messageId: last.id,
        lastId,
        seq: last.seq,
        content,
        tokenCount,
        summarizedCount: (previous?.summarizedCount ?? 0) + batch.length,
        model: model.alias,
      });
      // A reset or another job moved the memory past this summary: it is not needed.
      if (!stored) break;
      folded += batch.length;
    }
    return folded;
  }

  /** One model call: the new summary's text (reasoning split off). */
  private async write(
    model: ResolvedModel,
    previous: string | null,
    batch: WindowMessage[],
    signal: AbortSignal,
  ): Promise<string> {
    let text = '';
    for await (const chunk of this.llm.generate({
      model,
      messages: summaryRequest(previous, batch),
      params: { temperature: 0, maxTokens: this.config.get('SUMMARY_MAX_TOKENS') },
      mode: 'complete',
      signal,
    })) {
      if (chunk.type === 'delta') text += chunk.text;
    }
    const summary = splitThinking(text).content.trim();
    if (!summary) throw new Error(`${model.alias} answered an empty summary`);
    return summary;
  }

  private async release(conversationId: string): Promise<void> {
    try {
      await this.memory.releaseLease(conversationId);
    } catch (error) {
      // The lease lapses on its own.
      this.logger.warn({ err: error, conversationId }, 'could not release a summary lease');
    }
  }
}
