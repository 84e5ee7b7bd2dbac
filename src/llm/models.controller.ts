import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';

import { ApiErrors } from '../common/http/api-errors.decorator';

import { ModelListDto } from './dto/model-response.dto';
import { LlmService } from './llm.service';

@ApiTags('models')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429)
@Controller('models')
export class ModelsController {
  constructor(private readonly llm: LlmService) {}

  @Get()
  @ApiOperation({ summary: 'List model aliases and whether each is usable now' })
  @ApiOkResponse({ type: ModelListDto })
  async list(): Promise<ModelListDto> {
    const models = await this.llm.availability();
    return {
      data: models.map(({ alias, available, reason }) => ({
        alias: alias.alias,
        provider: alias.provider,
        upstreamModel: alias.model,
        contextWindow: alias.contextWindow,
        maxOutputTokens: alias.maxOutputTokens,
        defaultParams: alias.params,
        capabilities: {
          tools: alias.tools ?? null,
          jsonSchema: alias.jsonSchema ?? null,
          vision: alias.vision ?? null,
        },
        fallbacks: alias.fallbacks,
        available,
        reason,
        default: alias.alias === this.llm.registry.defaultAlias,
      })),
    };
  }
}
