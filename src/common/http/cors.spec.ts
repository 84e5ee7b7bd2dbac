import { loadEnv } from '../../config/env';
import { CorsPolicy, isLoopbackHost } from './cors';

const policy = (env: Record<string, string>): CorsPolicy => new CorsPolicy(loadEnv(env));

describe(CorsPolicy.name, () => {
  it('should allow the same origin and listed origins, and refuse others, opaque ones too', () => {
    const cors = policy({ CORS_ORIGINS: 'https://app.example.com' });
    expect(cors.allows('https://api.example.com', 'api.example.com')).toBe(true);
    expect(cors.allows('https://app.example.com', 'api.example.com')).toBe(true);
    expect(cors.allows('https://evil.example', 'api.example.com')).toBe(false);
    expect(cors.allows('null', 'api.example.com')).toBe(false);
  });

  it('should allow localhost dev servers only with AUTH_MODE=none on a loopback HOST', () => {
    const dev = policy({ HOST: '127.0.0.1' });
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3001', 'http://[::1]:8080'])
      expect(dev.allows(origin, 'localhost:3000')).toBe(true);
    expect(dev.allows('https://localhost.evil.example', 'localhost:3000')).toBe(false);
    expect(dev.allows('http://localhost:5173.evil.example', 'localhost:3000')).toBe(false);
    expect(policy({ HOST: '0.0.0.0' }).allows('http://localhost:5173', 'x:3000')).toBe(false);
    const local = policy({ HOST: '::1', AUTH_MODE: 'local', LOCAL_JWT_SECRET: 'x'.repeat(32) });
    expect(local.allows('http://localhost:5173', 'x:3000')).toBe(false);
  });

  it('should take * for any origin', () => {
    expect(policy({ CORS_ORIGINS: '*' }).allows('https://any.example', 'api')).toBe(true);
  });
});

describe('isLoopbackHost', () => {
  it('should know loopback names and addresses from the others', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.2', 'example.com'].some(isLoopbackHost)).toBe(false);
  });
});
