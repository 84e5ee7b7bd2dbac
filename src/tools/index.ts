export { loadMcpServers, ToolsModule } from './tools.module';
export { parseArguments, ServerToolsService } from './server-tools.service';
export { modelToolName } from './tool-names';
export {
  ServerHealth,
  ServerToolResult,
  ServerToolSet,
  ToolOutcome,
  UnavailableServer,
} from './tools.types';
