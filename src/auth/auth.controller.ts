import { Controller, Get, Optional } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';

import { ApiErrors } from '../common/http/api-errors.decorator';
import { AppConfig } from '../config/app-config';
import { CurrentOwner } from './current-owner.decorator';
import { MeResponseDto } from './dto/me-response.dto';
import { LocalAuthService } from './local/local-auth.service';

/** What every auth mode answers (accounts and tokens of AUTH_MODE=local: LocalAuthController). */
@ApiTags('auth')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('auth')
export class AuthController {
  constructor(
    private readonly config: AppConfig,
    /** Present with AUTH_MODE=local, which knows user names. */
    @Optional() private readonly localAuth?: LocalAuthService,
  ) {}

  @Get('me')
  @ApiOperation({
    summary: 'Who is signed in',
    description: 'The owner this request acts for, and its user name with AUTH_MODE=local.',
  })
  @ApiOkResponse({ type: MeResponseDto })
  async me(@CurrentOwner() owner: string): Promise<MeResponseDto> {
    const authMode = this.config.get('AUTH_MODE');
    const username = await this.localAuth?.usernameOf(owner);
    return username === undefined ? { owner, authMode } : { owner, username, authMode };
  }
}
