import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';

// Prisma 6.19's CLI migrates through its bundled WebAssembly engine and this driver
// adapter, so no engine binary has to be downloaded (see README, "Migrations"). The
// adapter is 7.10 on purpose: 6.19's fails in the wasm migration path ("Column type
// 'name' could not be deserialized"); 7.10 also serves the 6.19 run-time client.
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  adapter: () => Promise.resolve(new PrismaPg({ connectionString: process.env.DATABASE_URL })),
});
