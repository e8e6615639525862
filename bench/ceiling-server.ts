import express from "express";
import mongoose from "mongoose";
import { parseArgs } from "node:util";

/**
 * The benchmark's ceiling: the same JSON documents inserted one per HTTP request through a bare
 * express route and mongoose, on the same database — what any Node server can do per request.
 * Started by main.ts with `--mongodb-uri URI --database NAME`.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "mongodb-uri": { type: "string" }, database: { type: "string" } } });
  const uri = values["mongodb-uri"]!;
  const dbName = values.database!;
  const connection = await mongoose.createConnection(uri, { dbName, maxPoolSize: 20 }).asPromise();
  const Document = connection.model("CeilingDocument", new mongoose.Schema({}, { strict: false, versionKey: false }), "ceiling_documents");
  const app = express();
  app.use(express.json({ type: ["application/json", "application/scim+json"] }));
  app.post("/documents", async (req, res) => {
    const doc = await Document.create(req.body);
    res.status(201).json({ id: doc._id });
  });
  const server = app.listen(0, "127.0.0.1", () => {
    const address = server.address() as { port: number };
    process.stdout.write(`listening ${address.port}\n`);
  });
  process.on("SIGTERM", () => server.close(() => connection.close().then(() => process.exit(0))));
}

void main();
