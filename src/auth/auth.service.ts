import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import {
  createRemoteJWKSet,
  errors,
  JWTPayload,
  jwtVerify,
  JWTVerifyGetKey,
  JWTVerifyOptions,
} from 'jose';

import { AppException } from '../common/errors/app.exception';
import { unstorableTextReason } from '../common/text/storable-text';
import { AppConfig } from '../config/app-config';
import { ApiKeyEntry, ownerOfApiKey, parseApiKeys } from './api-keys';
import { LOCAL_OWNER } from './current-owner.decorator';

/** The `iss` of the access tokens AUTH_MODE=local signs (and the only one it accepts). */
export const LOCAL_TOKEN_ISSUER = 'chat-backend';

/** Longest owner id (a token's sub) accepted; API_KEYS owners are held to the same. */
export const MAX_OWNER_LENGTH = 200;

type AuthErrorCode = 'missing_credentials' | 'invalid_token' | 'token_expired' | 'invalid_api_key';

export class UnauthorizedException extends AppException {
  constructor(code: AuthErrorCode, message: string) {
    super(code, message, { headers: { 'WWW-Authenticate': `Bearer error="${code}"` } });
  }
}

export interface AuthOptions {
  /** AUTH_MODE=api-key also takes the key as `Authorization: Bearer <key>`. */
  bearerApiKey?: boolean;
  /** A GET may carry the token (JWT or API key) as `?access_token=`, when no header does. */
  queryToken?: boolean;
}

/** What a client presented: a bearer token (AUTH_MODE=jwt) and/or an API key (api-key). */
export interface Credentials {
  bearer?: string;
  apiKey?: string;
}

/** The token of an `Authorization: Bearer <token>` header. */
export const bearerToken = (authorization: string | undefined): string | undefined =>
  authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];

/** `?access_token=` of a GET: never of a request that changes anything. */
function queryTokenOf(req: Request): string | undefined {
  const token: unknown = req.method === 'GET' ? req.query.access_token : undefined;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/** Decides who a request acts for, per AUTH_MODE. */
@Injectable()
export class AuthService {
  private readonly apiKeys: ApiKeyEntry[];
  private readonly jwtKey?: Uint8Array | JWTVerifyGetKey;

  constructor(private readonly config: AppConfig) {
    this.apiKeys = parseApiKeys(config.get('API_KEYS'));
    const local = config.get('AUTH_MODE') === 'local';
    // AUTH_MODE=local verifies the access tokens this service signs, as jwt mode does others'.
    const jwks = local ? undefined : config.get('JWT_JWKS_URL');
    const secret = local ? config.get('LOCAL_JWT_SECRET') : config.get('JWT_SECRET');
    // jose caches the key set and refetches it when a token names an unknown key id (rotation).
    if (jwks)
      this.jwtKey = createRemoteJWKSet(new URL(jwks), {
        cooldownDuration: config.get('JWT_JWKS_COOLDOWN_MS'),
      });
    else if (secret) this.jwtKey = new TextEncoder().encode(secret);
  }

  /** Who an HTTP request acts for: `Authorization: Bearer` or `X-API-Key`, per AUTH_MODE. */
  authenticate(req: Request, options: AuthOptions = {}): Promise<string> {
    const queryToken = options.queryToken ? queryTokenOf(req) : undefined;
    const bearer = bearerToken(req.header('authorization')) ?? queryToken;
    const apiKey =
      req.header('x-api-key') ?? (options.bearerApiKey ? bearer : undefined) ?? queryToken;
    return this.authenticateCredentials({ bearer, apiKey }, options);
  }

  /** Who the credentials act for; doors other than HTTP find them where their clients can put them. */
  async authenticateCredentials(
    credentials: Credentials,
    options: AuthOptions = {},
  ): Promise<string> {
    switch (this.config.get('AUTH_MODE')) {
      case 'none':
        return LOCAL_OWNER;
      case 'api-key':
        return this.fromApiKey(credentials.apiKey, options.bearerApiKey === true);
      case 'jwt':
      case 'local':
        return this.fromJwt(credentials.bearer);
    }
  }

  private fromApiKey(key: string | undefined, bearer: boolean): string {
    if (!key)
      throw new UnauthorizedException(
        'missing_credentials',
        bearer
          ? 'Send your API key as Authorization: Bearer <key> or in the X-API-Key header'
          : 'Send your API key in the X-API-Key header',
      );
    const owner = ownerOfApiKey(key, this.apiKeys);
    if (!owner) throw new UnauthorizedException('invalid_api_key', 'This API key is not valid');
    return owner;
  }

  private async fromJwt(token: string | undefined): Promise<string> {
    if (!token)
      throw new UnauthorizedException(
        'missing_credentials',
        'Send a token as Authorization: Bearer <token>',
      );
    let payload: JWTPayload;
    try {
      const options = this.verifyOptions();
      const key = this.jwtKey!;
      // Two calls because jwtVerify's overloads take a key or a key resolver, not a union.
      payload = (
        typeof key === 'function'
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options)
      ).payload;
    } catch (error) {
      throw this.describe(error);
    }
    // A signed token may still carry any JSON as its sub; only a non-empty string is an owner.
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new UnauthorizedException(
        'invalid_token',
        'The token needs a sub claim, a non-empty string, to identify its owner',
      );
    // The owner is stored with every conversation: it must be text PostgreSQL can keep.
    if (payload.sub.length > MAX_OWNER_LENGTH || unstorableTextReason(payload.sub))
      throw new UnauthorizedException(
        'invalid_token',
        `The token's sub claim must be at most ${MAX_OWNER_LENGTH} characters of well-formed text`,
      );
    return payload.sub;
  }

  private verifyOptions(): JWTVerifyOptions {
    // The access tokens AUTH_MODE=local signs always expire; one that does not was not ours.
    if (this.config.get('AUTH_MODE') === 'local')
      return { issuer: LOCAL_TOKEN_ISSUER, algorithms: ['HS256'], requiredClaims: ['exp'] };
    return {
      issuer: this.config.get('JWT_ISSUER'),
      audience: this.config.get('JWT_AUDIENCE'),
      algorithms: this.config.get('JWT_JWKS_URL') ? ['RS256', 'ES256'] : ['HS256'],
      requiredClaims: this.config.get('JWT_REQUIRE_EXP') ? ['exp'] : [],
    };
  }

  private describe(error: unknown): AppException {
    if (error instanceof errors.JWTExpired)
      return new UnauthorizedException('token_expired', 'The token has expired; get a new one');
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.claim === 'exp' && error.reason === 'missing')
        return new UnauthorizedException(
          'invalid_token',
          'The token has no exp claim; only tokens that expire are accepted here',
        );
      return new UnauthorizedException(
        'invalid_token',
        `The token's ${error.claim} claim is not accepted here`,
      );
    }
    if (
      error instanceof errors.JWKSNoMatchingKey ||
      error instanceof errors.JWSSignatureVerificationFailed
    ) {
      return new UnauthorizedException('invalid_token', 'The token signature does not verify');
    }
    if (error instanceof errors.JOSEAlgNotAllowed)
      return new UnauthorizedException(
        'invalid_token',
        'The token uses an algorithm not accepted here',
      );
    if (
      error instanceof errors.JWKSTimeout ||
      (error instanceof errors.JOSEError && error.code === 'ERR_JWKS_INVALID')
    ) {
      return new AppException(
        'auth_unavailable',
        'The identity provider keys could not be fetched; try again shortly',
      );
    }
    return new UnauthorizedException('invalid_token', 'The token is malformed');
  }
}
