import { handleSignals } from '@suite/server-kit';
import { readActivityConfigOrExit } from './config.js';
import { createActivityService } from './service.js';

const config = readActivityConfigOrExit();
const service = await createActivityService(config);
await service.start();
await service.listen();
handleSignals(service, service.logger, config.SHUTDOWN_GRACE_MS);
