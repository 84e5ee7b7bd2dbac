import { modelToolName, serverOfModelName } from './tool-names';

const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

describe(modelToolName.name, () => {
  it('should join server and tool with two underscores when that is a valid function name', () => {
    expect(modelToolName('files', 'read_file')).toBe('files__read_file');
  });

  it('should make other names valid, short and distinct, the same every time', () => {
    const dotted = modelToolName('files', 'fs.read');
    const underscored = modelToolName('files', 'fs_read');
    const long = modelToolName('a-server-with-a-long-name', 'x'.repeat(100));
    for (const name of [dotted, long]) expect(name).toMatch(FUNCTION_NAME);
    expect(dotted).not.toBe(underscored);
    expect(dotted).toMatch(/^files__fs_read_[0-9a-f]{8}$/);
    expect(modelToolName('files', 'fs.read')).toBe(dotted);
    expect(long).not.toBe(modelToolName('a-server-with-a-long-name', `${'x'.repeat(99)}y`));
  });
});

describe(serverOfModelName.name, () => {
  it('should find the longest server name a model-facing name starts with', () => {
    expect(serverOfModelName('git__hub__x', ['git', 'git__hub'])).toBe('git__hub');
    expect(serverOfModelName('files__read', ['git'])).toBeUndefined();
  });
});
