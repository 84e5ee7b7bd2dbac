import { createHash, randomBytes } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { SignJWT } from 'jose';

import { AppException } from '../../common/errors/app.exception';
import { newId } from '../../common/ids';
import { AppConfig } from '../../config/app-config';
import { LOCAL_TOKEN_ISSUER } from '../auth.service';
import { LoginLimiter } from './login-limiter';
import { PasswordHasher } from './password-hasher';
import { RegistrationLimiter } from './registration-limiter';
import { NewRefreshToken, RefreshTokensRepository } from './refresh-tokens.repository';
import { UserRecord, UsersRepository } from './users.repository';

export interface TokenPair {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
}

export interface SignInRequest {
  username: string;
  password: string;
  grant_type?: string;
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

const invalidCredentials = (): AppException =>
  new AppException('invalid_credentials', 'The username or password is wrong', {
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_credentials"' },
  });

const invalidRefreshToken = (message: string): AppException =>
  new AppException('invalid_refresh_token', message, {
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_refresh_token"' },
  });

/**
 * AUTH_MODE=local: accounts, sign-in, and the tokens that follow. Access tokens are
 * short-lived HS256 JWTs whose `sub` is the user id, verified by AuthService exactly as
 * in jwt mode; refresh tokens are random, stored hashed, single-use and revocable.
 */
@Injectable()
export class LocalAuthService {
  private readonly secret: Uint8Array;

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly hasher: PasswordHasher,
    private readonly limiter: LoginLimiter,
    private readonly registrations: RegistrationLimiter,
  ) {
    this.secret = new TextEncoder().encode(config.get('LOCAL_JWT_SECRET'));
  }

  /** Self-service sign-up, unless AUTH_REGISTRATION=closed; limited per client address. */
  async register(username: string, password: string, ip: string): Promise<UserRecord> {
    if (this.config.get('AUTH_REGISTRATION') === 'closed')
      throw new AppException(
        'registration_closed',
        'Registration is closed on this server; ask an operator for an account',
      );
    await this.registrations.take(ip);
    return this.createUser(username, password);
  }

  /** The name of the user whose id a token's `sub` carries; undefined once deleted. */
  async usernameOf(userId: string): Promise<string | undefined> {
    return isUUID(userId) ? this.users.findUsername(userId) : undefined;
  }

  /** Adds an account whatever AUTH_REGISTRATION says (operators: `npm run users`). */
  async createUser(username: string, password: string): Promise<UserRecord> {
    return this.users.create(username, await this.hasher.hash(password));
  }

  /**
   * The password grant. A wrong password and an unknown username get the same answer after
   * the same work (a hash is verified either way), and count alike towards the limits.
   */
  async signIn(request: SignInRequest, ip: string): Promise<TokenPair> {
    const { username, password, grant_type: grantType = 'password' } = request;
    if (grantType !== 'password')
      throw new AppException(
        'unsupported_grant_type',
        `grant_type "${grantType.slice(0, 40)}" is not supported here; use password (refresh tokens go to /api/v1/auth/refresh)`,
      );
    await this.limiter.assertAllowed(username, ip);
    const user = await this.users.findCredentials(username);
    if (!(await this.hasher.verify(user?.passwordHash, password)) || !user)
      throw (await this.limiter.recordFailure(username, ip)) ?? invalidCredentials();
    await this.limiter.recordSuccess(username);
    const refresh = this.newRefreshToken();
    await this.refreshTokens.issue(user.id, refresh.row);
    return this.pair(user.id, refresh.token);
  }

  /**
   * Trades a refresh token for a new pair; the token is spent. A spent (or signed-out)
   * token presented again means it leaked, or a client retried: every token of that
   * sign-in is revoked, and the user signs in again.
   */
  async refresh(token: string): Promise<TokenPair> {
    const tokenHash = hashToken(token);
    const next = this.newRefreshToken();
    const userId = await this.refreshTokens.rotate(tokenHash, next.row);
    if (userId) return this.pair(userId, next.token);
    if (await this.refreshTokens.isRevoked(tokenHash)) {
      await this.refreshTokens.revokeFamily(tokenHash);
      throw invalidRefreshToken(
        'This refresh token was already used; the sign-in it belongs to has been ended. Sign in again',
      );
    }
    throw invalidRefreshToken('The refresh token is unknown or expired; sign in again');
  }

  /** Ends the sign-in the token belongs to; unknown tokens are ignored (RFC 7009 §2.2). */
  async logout(token: string): Promise<void> {
    await this.refreshTokens.revokeFamily(hashToken(token));
  }

  private newRefreshToken(): { token: string; row: NewRefreshToken } {
    const token = randomBytes(32).toString('base64url');
    const ttlSeconds = this.config.get('REFRESH_TOKEN_TTL_S');
    return { token, row: { id: newId(), tokenHash: hashToken(token), ttlSeconds } };
  }

  private async pair(userId: string, refreshToken: string): Promise<TokenPair> {
    const ttl = this.config.get('ACCESS_TOKEN_TTL_S');
    const accessToken = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(LOCAL_TOKEN_ISSUER)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(this.secret);
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: ttl,
      refresh_token: refreshToken,
    };
  }
}
