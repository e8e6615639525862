import http from "node:http";
import type { Express } from "express";

/**
 * The HTTP server that serves the app (main.ts), its requests and responses born with express's
 * prototypes.
 *
 * express gives every request and response its own prototypes as the request arrives
 * (`Object.setPrototypeOf(req, app.request)` in `app.handle`). Changing the prototype of an object
 * V8 has just built costs more than the call: measured with `--trace-gc-nvp` over 4,000 sequential
 * requests to an express 5 app that answers `res.end("x")`, 2.8 MB of every young-generation
 * collection survived it (about 1.9 MB in Gatehouse's `userName eq` lookups) — garbage copied and
 * then promoted, which made each young collection a 3–5 ms pause and filled the old generation
 * with garbage for the next full one. A node:http server answering the same survived 0.01 MB.
 * Built here from subclasses whose prototypes already are express's, each request and response
 * has the prototype express sets, so its `setPrototypeOf` changes nothing, and the same app
 * survived 0.06–0.11 MB per collection and allocated 40 % as much in all.
 *
 * `app.request` and `app.response` become those subclasses' prototypes, which inherit express's
 * (and `app`): a server that builds plain `IncomingMessage`s (supertest's, in the tests) is still
 * served as before, express setting the prototype as usual.
 */
export function serverFor(app: Express): http.Server {
  class Request extends http.IncomingMessage {}
  class Response extends http.ServerResponse<Request> {}
  Object.setPrototypeOf(Request.prototype, app.request);
  Object.setPrototypeOf(Response.prototype, app.response);
  app.request = Request.prototype as unknown as Express["request"];
  app.response = Response.prototype as unknown as Express["response"];
  return http.createServer<typeof Request, typeof Response>({ IncomingMessage: Request, ServerResponse: Response }, app);
}
