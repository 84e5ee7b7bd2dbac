import { PageQueryDto } from '../../common/pagination/page.dto';

/** Newest first, `limit` per page, `cursor` from the previous page. */
export class ListFilesQueryDto extends PageQueryDto {}
