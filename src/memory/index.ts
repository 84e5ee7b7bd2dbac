// What the memory room offers the rest of the app (lint keeps other rooms to this).
export { MemoryModule } from './memory.module';
export { MemoryService } from './memory.service';
