import { Global, Module } from '@nestjs/common';

import { Db } from './db';
import { PrismaService } from './prisma.service';

@Global()
@Module({ providers: [PrismaService, Db], exports: [PrismaService, Db] })
export class DatabaseModule {}
