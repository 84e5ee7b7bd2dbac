import { Global, Module } from '@nestjs/common';

import { ClusterService } from './cluster.service';
import { ProcessesRepository } from './processes.repository';

/** The processes sharing one database: liveness and cross-process signals. */
@Global()
@Module({
  providers: [ClusterService, ProcessesRepository],
  exports: [ClusterService, ProcessesRepository],
})
export class ClusterModule {}
