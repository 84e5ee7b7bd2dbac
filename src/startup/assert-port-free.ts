import net from 'node:net';

export class PortInUseError extends Error {}

/**
 * Fails early when another process listens on the service's port, before the embedded
 * database or anything else is touched, so a second `npm start` says why it cannot run
 * and leaves the first one undisturbed.
 */
export function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(
              `Port ${port} on ${host} is already in use, probably by another instance of this ` +
                'service: stop it, or set PORT to a free port',
            )
          : error,
      ),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
