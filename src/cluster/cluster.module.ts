import { Global, Module } from '@nestjs/common';

import { ClusterService } from './cluster.service';

/** The processes sharing one database: liveness and cross-process signals. */
@Global()
@Module({ providers: [ClusterService], exports: [ClusterService] })
export class ClusterModule {}
