import { Injectable } from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import { PrismaService } from '../prisma/prisma.service';
import type { ReadinessDto } from './health.controller';

const CHECK_TIMEOUT_MS = 2000;

@Injectable()
export class HealthService {
  constructor(private readonly prisma: PrismaService) {}

  async readiness(): Promise<ReadinessDto> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.prisma.$queryRaw`SELECT 1`,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
            CHECK_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new AppException(503, 'not_ready', `Database unreachable: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
    return {
      status: 'ok',
      checks: { database: { status: 'up', latencyMs: Math.round(performance.now() - started) } },
    };
  }
}
