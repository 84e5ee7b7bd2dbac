import { Global, Module } from '@nestjs/common';

import { ClusterService } from './cluster.service';
import { EventListenersRepository } from './event-listeners.repository';
import { OwnerEvents } from './owner-events';
import { ProcessesRepository } from './processes.repository';

/** The processes sharing one database: liveness, cross-process signals, owner events. */
@Global()
@Module({
  providers: [ClusterService, EventListenersRepository, OwnerEvents, ProcessesRepository],
  exports: [ClusterService, OwnerEvents, ProcessesRepository],
})
export class ClusterModule {}
