import type { ChatMessage } from '../../llm/llm.types';
import { splitThinking } from '../../prompts/think-splitter';

export const TITLE_MAX_CHARS = 60;
export const TOPICS_MAX = 5;
const TOPIC_MAX_CHARS = 40;
/** Enough of the exchange to name it; the rest only costs tokens. */
const EXCERPT_CHARS = 2000;

/**
 * The instruction of a title call. Its first sentence is what the fake LLM recognises
 * (test/fake-llm), so keep it when rewording the rest.
 */
export const TITLE_SYSTEM_PROMPT = [
  'You name conversations.',
  'Read the exchange and answer with exactly two lines and nothing else:',
  'Title: <a title of at most 6 words, in the language of the exchange, no quotes>',
  'Topics: <1 to 5 short lowercase topic tags, comma-separated>',
].join('\n');

export interface GeneratedTitle {
  title: string;
  topics: string[];
}

function excerpt(text: string): string {
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

/** The title call's prompt: the first exchange, as a quoted transcript. */
export function titleMessages(userText: string, replyText: string): ChatMessage[] {
  const transcript = `User: ${excerpt(userText)}\nAssistant: ${excerpt(replyText)}`;
  return [
    { role: 'system', content: TITLE_SYSTEM_PROMPT },
    { role: 'user', content: `<exchange>\n${transcript}\n</exchange>` },
  ];
}

/** Quotes, markdown emphasis and a final full stop that models like to add. */
function strip(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[\s"'`*_#«»“”‘’]+|[\s"'`*_«»“”‘’]+$/g, '')
    .replace(/\.$/, '')
    .trim();
}

/** At most `max` characters, cut at a word boundary when there is one. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return (space > max / 2 ? cut.slice(0, space) : cut).trim();
}

function topicsOf(line: string): string[] {
  const seen = new Set<string>();
  for (const raw of line.split(/[,;]/)) {
    const topic = shorten(strip(raw.replace(/^#/, '')).toLowerCase(), TOPIC_MAX_CHARS);
    if (topic) seen.add(topic);
    if (seen.size === TOPICS_MAX) break;
  }
  return [...seen];
}

/**
 * The title and topics in a model's answer, cleaned: one line of at most 60 characters,
 * without quotes; at most 5 distinct lowercase topics. Lenient with models that ignore the
 * format (the first line is then the title). Null when there is no usable title.
 */
export function parseTitleReply(reply: string): GeneratedTitle | null {
  const lines = splitThinking(reply)
    .content.split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const field = (name: string): string | undefined =>
    lines.find((line) => line.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1);
  const titleLine = field('title') ?? lines.find((line) => !/^topics:/i.test(line)) ?? '';
  const title = shorten(strip(titleLine), TITLE_MAX_CHARS);
  if (!title) return null;
  return { title, topics: topicsOf(field('topics') ?? '') };
}
