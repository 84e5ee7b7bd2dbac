// What the files room offers the rest of the app (lint keeps other rooms to this).
export { FilesModule } from './files.module';
export {
  ATTACHED_IMAGE_MAX_BYTES,
  FileNotFoundException,
  FilesService,
  PURPOSES,
} from './files.service';
export { FileResponseDto } from './dto/file-response.dto';
export type { AttachableFile, FileRow } from './files.repository';
export { withUpload } from './multipart';
export { servedContentType } from './content-type';
export { contentDisposition } from './content-disposition';
export { imageTokens, inlineImageTokens, UNKNOWN_IMAGE_TOKENS } from './image-tokens';
export type { FileRef } from './file-ref';
export { inlineFilename, parseDataUrl } from './file-ref';
