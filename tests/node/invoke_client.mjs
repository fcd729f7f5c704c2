// AWS's JavaScript SDK (v3) calling lambda-sse dev's Lambda API: its own event-stream parser
// (@smithy/eventstream-codec) reads the streamed response. Prints one JSON document.
// AWS_ENDPOINT_URL_LAMBDA points the client at the server.
import { LambdaClient, InvokeCommand, InvokeWithResponseStreamCommand } from "@aws-sdk/client-lambda";

const client = new LambdaClient({
  region: "us-east-1",
  credentials: { accessKeyId: "any", secretAccessKey: "any" },
  maxAttempts: 1,
});
const text = (bytes) => Buffer.from(bytes).toString("utf8");
const out = {};

const invoked = await client.send(
  new InvokeCommand({ FunctionName: "inv-test-echo", Payload: JSON.stringify({ from: "node" }), LogType: "Tail" }),
);
out.invoke = {
  status: invoked.StatusCode,
  payload: JSON.parse(text(invoked.Payload)),
  tail: Buffer.from(invoked.LogResult, "base64").toString("utf8"),
};

const streamed = await client.send(
  new InvokeWithResponseStreamCommand({
    FunctionName: "stream",
    Payload: JSON.stringify({ chunks: 4, fail_after: 3 }),
  }),
);
out.stream = { contentType: streamed.ResponseStreamContentType, events: [] };
for await (const event of streamed.EventStream) {
  if (event.PayloadChunk) out.stream.events.push({ chunk: text(event.PayloadChunk.Payload) });
  if (event.InvokeComplete) out.stream.events.push({ complete: event.InvokeComplete });
}

try {
  await client.send(new InvokeCommand({ FunctionName: "nope" }));
} catch (error) {
  out.error = { name: error.name, status: error.$metadata.httpStatusCode, message: error.message };
}
console.log(JSON.stringify(out));
