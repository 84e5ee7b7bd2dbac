import 'express';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by AuthGuard: who the request acts for. */
    owner?: string;
  }
}
