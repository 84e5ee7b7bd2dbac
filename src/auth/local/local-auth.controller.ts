import { Body, Controller, Header, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';

import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { Public } from '../current-owner.decorator';
import { CredentialsDto } from './dto/credentials.dto';
import { RefreshTokenDto } from './dto/refresh-token.dto';
import { TokenRequestDto } from './dto/token-request.dto';
import { TokenResponseDto } from './dto/token-response.dto';
import { UserResponseDto } from './dto/user-response.dto';
import { LocalAuthService } from './local-auth.service';

/** The error body of one status of these routes, with the codes it may carry. */
const ApiAuthError = (status: number, codes: string[], message: string): MethodDecorator =>
  ApiResponse({
    status,
    description: codes.map((code) => `\`${code}\``).join(', '),
    content: {
      'application/json': {
        schema: { $ref: getSchemaPath(ErrorResponseDto) },
        example: { statusCode: status, error: codes[0], message, correlationId: '7d5c1a9e-…' },
      },
    },
  });

/** AUTH_MODE=local: accounts and tokens (docs/authentication.md, "Built-in users"). */
@ApiTags('auth')
@ApiExtraModels(ErrorResponseDto)
@ApiErrors(413, 503)
@Public()
@Controller('auth')
export class LocalAuthController {
  constructor(private readonly auth: LocalAuthService) {}

  @Post('register')
  @ApiOperation({ summary: 'Create an account (unless AUTH_REGISTRATION=closed)', security: [] })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiAuthError(400, ['validation_failed'], 'Invalid request: username: username must be 3 to …')
  @ApiAuthError(403, ['registration_closed'], 'Registration is closed on this server; …')
  @ApiAuthError(409, ['username_taken'], 'The username "alice" is taken')
  @ApiAuthError(429, ['rate_limited'], 'Too many registrations from this address; retry after …')
  @ApiErrors(415)
  async register(@Body() body: CredentialsDto, @Ip() ip: string): Promise<UserResponseDto> {
    const user = await this.auth.register(body.username, body.password, ip);
    return { id: user.id, username: user.username, createdAt: user.createdAt.toISOString() };
  }

  @Post('token')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Sign in: an access token and a refresh token',
    description:
      'JSON, or the OAuth2 password grant as a form (what Swagger UI’s **Authorize** sends). ' +
      'A wrong password and an unknown username get the same 401.',
    security: [],
  })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiAuthError(
    400,
    ['validation_failed', 'unsupported_grant_type'],
    'Invalid request: password: …',
  )
  @ApiAuthError(401, ['invalid_credentials'], 'The username or password is wrong')
  @ApiAuthError(
    429,
    ['rate_limited'],
    'Too many failed sign-ins for this username or from this address; retry after 900 s',
  )
  @ApiErrors(415)
  signIn(@Body() body: TokenRequestDto, @Ip() ip: string): Promise<TokenResponseDto> {
    return this.auth.signIn(body, ip);
  }

  @Post('refresh')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Trade a refresh token for a new pair (the old refresh token is spent)',
    description:
      'A spent refresh token presented again ends the whole sign-in it belongs to: every ' +
      'refresh token issued from it is revoked.',
    security: [],
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiAuthError(400, ['validation_failed'], 'Invalid request: refresh_token: …')
  @ApiAuthError(401, ['invalid_refresh_token'], 'The refresh token is unknown or expired; …')
  @ApiErrors(415, 429)
  refresh(@Body() body: RefreshTokenDto): Promise<TokenResponseDto> {
    return this.auth.refresh(body.refresh_token);
  }

  @Post('logout')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Sign out: revoke the refresh token and every one of its sign-in',
    description: 'Answers 204 for unknown tokens too. Access tokens run until they expire.',
    security: [],
  })
  @ApiNoContentResponse({ description: 'Signed out' })
  @ApiAuthError(400, ['validation_failed'], 'Invalid request: refresh_token: …')
  @ApiErrors(415, 429)
  async logout(@Body() body: RefreshTokenDto): Promise<void> {
    await this.auth.logout(body.refresh_token);
  }
}
