import { isInline } from './content-type';

/**
 * How GET …/content offers a file: inline for what a browser only shows (raster images,
 * plain text), attachment for everything else; the name as ASCII and as RFC 5987 UTF-8.
 */
export function contentDisposition(mimeType: string, filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const utf8 = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${isInline(mimeType) ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}
