import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import net from 'node:net';

/** One masked text frame, as a WebSocket client must send it. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i % 4];
  return Buffer.concat([header, mask, masked]);
}

/** Splits the complete frames off the front of what the server sent (its frames are unmasked). */
function takeFrames(received: Buffer): { payloads: string[]; rest: Buffer } {
  const payloads: string[] = [];
  let buffer = received;
  // A 2-byte header, then a 16- or 64-bit length if needed.
  while (buffer.length >= 2) {
    let length = buffer[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffer.length < 4) break;
      length = buffer.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffer.length < 10) break;
      length = Number(buffer.readBigUInt64BE(2));
      offset = 10;
    }
    if (buffer.length < offset + length) break;
    payloads.push(buffer.subarray(offset, offset + length).toString());
    buffer = buffer.subarray(offset + length);
  }
  return { payloads, rest: buffer };
}

/**
 * Runs a full garbage collection in a process started with `--inspect=127.0.0.1:<port>`,
 * through the inspector protocol (HeapProfiler.collectGarbage) over a minimal WebSocket
 * client, so what is measured afterwards is what the process really still holds.
 */
export async function collectGarbage(port: number): Promise<void> {
  await inspectorCall(port, 'HeapProfiler.collectGarbage');
}

/** Writes a heap snapshot of the process (HeapProfiler.takeHeapSnapshot) to `file`. */
export async function takeHeapSnapshot(port: number, file: string): Promise<void> {
  const out = createWriteStream(file);
  await inspectorCall(port, 'HeapProfiler.takeHeapSnapshot', (event) => {
    if (event.method === 'HeapProfiler.addHeapSnapshotChunk')
      out.write((event.params as { chunk: string }).chunk);
  });
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error) => (error ? reject(error) : resolve())),
  );
}

interface InspectorMessage {
  id?: number;
  method?: string;
  params?: unknown;
  error?: { message: string };
}

/** Calls one inspector method and waits for its answer; `onEvent` sees the events before it. */
async function inspectorCall(
  port: number,
  method: string,
  onEvent: (event: InspectorMessage) => void = () => undefined,
): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = new URL(targets[0].webSocketDebuggerUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      let buffer: Buffer = Buffer.alloc(0);
      let upgraded = false;
      const timer = setTimeout(() => reject(new Error('inspector did not answer')), 120_000);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        if (!upgraded) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!buffer.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) {
            reject(new Error(`inspector refused the WebSocket: ${buffer.toString().slice(0, 80)}`));
            return;
          }
          upgraded = true;
          buffer = buffer.subarray(end + 4);
          socket.write(frame(JSON.stringify({ id: 1, method })));
        }
        const { payloads, rest } = takeFrames(buffer);
        buffer = rest;
        for (const payload of payloads) {
          const message = JSON.parse(payload) as InspectorMessage;
          if (message.id !== 1) onEvent(message);
          else {
            clearTimeout(timer);
            if (message.error) reject(new Error(message.error.message));
            else resolve();
          }
        }
      });
    });
  } finally {
    socket.destroy();
  }
}
