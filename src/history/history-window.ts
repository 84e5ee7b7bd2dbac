import { sql } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';

import type { Db } from '../database/db';
import type { HistoryWindow } from '../prompts/prompt-manager';
import type { MemoryMark, ReadWindow, WindowMessage } from './memory-mark';
import { IN_HISTORY, messagePath, NO_LIMIT } from './message-path';

/** The CTEs a window read defines: the memory mark and the messages read after it. */
type WindowTables = {
  mark: MemoryMark;
  kept: WindowMessage & { fits: boolean };
};

/** A window's columns as read: `read` counts the messages after the mark the window read. */
export function readWindow(
  history: WindowMessage[],
  mark: MemoryMark | null,
  read: string | number | null,
): ReadWindow {
  return { history, mark, omitted: Number(read ?? 0) - history.length };
}

/**
 * The newest memory mark on the path ending at `lastId` (a mark holds for every path
 * through its message): a reset always counts, a summary only with summaries on and if it
 * fits the window's budget. The walk stops at the first such mark (at most maxRows
 * messages), and is skipped when the conversation has no mark at all. A turn defines it
 * as the CTE `mark`.
 */
export function memoryMarkOf(
  db: Db,
  conversationId: string,
  lastId: string | null,
  window: HistoryWindow,
) {
  const usable = sql<boolean>`(mm.kind = 'reset' or (${window.summaries}::boolean
    and mm.token_count + ${window.summaryOverhead}::int <= ${window.maxTokens}::int))`;
  const path = messagePath(db, {
    conversationId,
    lastId,
    maxRows: window.maxRows,
    maxTokens: NO_LIMIT,
    messageOverhead: 0,
    stopAfter: (id) =>
      sql<boolean>`exists (select 1 from memory_marks mm where mm.message_id = ${id} and ${usable})`,
  });
  return db
    .selectFrom(path.as('path'))
    .innerJoin('memoryMarks as mm', 'mm.messageId', 'path.id')
    .select(['mm.messageId', 'mm.seq', 'mm.kind', 'mm.content', 'mm.tokenCount'])
    .select('mm.summarizedCount')
    .where(usable)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('memoryMarks').select('messageId').where('conversationId', '=', conversationId),
      ),
    )
    .orderBy('path.depth')
    .limit(1);
}

/**
 * The window (PromptManager's HistoryWindow) of the path ending at `lastId`, after the
 * memory mark (CTE `mark`): its newest complete messages whose costs add up to at most
 * maxTokens less the summary's cost, at most maxRows walked. The walk stops where the
 * budget does, so a 10,000-message path reads what a 10-message one does; it reads one
 * message past the budget (`fits` false), which tells whether any was left out. A turn
 * defines it as the CTE `kept`.
 */
export function windowMessagesOf(
  db: Db,
  conversationId: string,
  lastId: string | null,
  window: HistoryWindow,
) {
  // Fields named one by one: in a prepared build `window` is a stand-in that cannot be spread.
  const { maxRows, messageOverhead } = window;
  // The summary sent before the window comes out of its budget.
  const budget = sql<number>`(${window.maxTokens}::int - coalesce((select token_count
    + ${window.summaryOverhead}::int from mark where kind = 'summary'), 0))`;
  const path = messagePath(db, {
    conversationId,
    lastId,
    maxRows: sql<number>`(${maxRows}::int + 1)`,
    maxTokens: budget,
    messageOverhead,
    afterSeq: sql<number>`(coalesce((select seq from mark), -1))`,
    content: true,
  });
  return (
    db
      .selectFrom(path.as('path'))
      .select(['path.id', 'path.role', 'path.content', 'path.speakerName', 'path.tokenCount'])
      .select(['path.seq', 'path.toolCalls', 'path.toolCallId'])
      // A probe of message_attachments' key per message: a turn reads files only for these.
      .select(
        sql<boolean>`exists (select 1 from message_attachments ma
        where ma.message_id = path.id)`.as('attached'),
      )
      .select(sql<boolean>`path.running <= ${budget} and path.depth <= ${maxRows}::int`.as('fits'))
      .where('path.status', 'in', IN_HISTORY)
  );
}

/**
 * The window's messages (from its first user message on: chat templates that demand
 * strict alternation reject a prompt whose history opens with a reply), the mark, and how
 * many messages after the mark were read: those not in the history were left out. Read
 * from the CTEs `mark` and `kept`; `readWindow` turns the three columns into a ReadWindow.
 */
export function windowColumns(db: Db) {
  const tables = db.withTables<WindowTables>();
  const fits = tables
    .selectFrom('kept')
    .select(['id', 'role', 'content', 'speakerName', 'tokenCount', 'seq', 'toolCalls'])
    .select(['toolCallId', 'attached'])
    .where('fits', '=', true);
  return [
    jsonArrayFrom(
      fits
        .where('seq', '>=', (sub) =>
          sub
            .selectFrom('kept')
            .select((k) => k.fn.min('seq').as('seq'))
            .where('fits', '=', true)
            .where('role', '=', 'user'),
        )
        .orderBy('seq'),
    ).as('history'),
    jsonObjectFrom(tables.selectFrom('mark').selectAll()).as('mark'),
    tables
      .selectFrom('kept')
      .select((k) => k.fn.countAll<string>().as('read'))
      .as('read'),
  ];
}
