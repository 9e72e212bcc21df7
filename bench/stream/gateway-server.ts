// Our stream-gateway as a separate process for the benchmark.
import { createGatewayService, loadGatewayConfig } from '@suite/stream-gateway';

const [port, redisUrl, prefix, secret] = process.argv.slice(2);
const service = await createGatewayService(
  loadGatewayConfig({
    PORT: port,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET: secret,
    LOG_LEVEL: 'warn',
    STREAM_MAX_CONNECTIONS_PER_USER: '100',
    STREAM_ALLOWED_ORIGINS: '*',
    RATE_LIMIT_STREAM_PER_MIN: '100000000',
  }),
);
await service.start();
const server = await service.listen(Number(port), '127.0.0.1');
process.stdout.write(`listening ${server.port}\n`);
process.on('SIGTERM', () => void service.stop().then(() => process.exit(0)));
