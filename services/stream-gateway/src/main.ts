import { handleSignals } from '@suite/server-kit';
import { readGatewayConfigOrExit } from './config.js';
import { createGatewayService } from './service.js';

const config = readGatewayConfigOrExit();
const service = await createGatewayService(config);
await service.start();
await service.listen();
handleSignals(service, service.logger, config.SHUTDOWN_GRACE_MS);
