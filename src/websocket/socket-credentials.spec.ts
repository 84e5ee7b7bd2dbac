import { selectProtocol, socketCredentials } from './socket-credentials';

describe('socketCredentials', () => {
  it('should take the Authorization and X-API-Key headers first', () => {
    expect(
      socketCredentials(
        {
          authorization: 'Bearer header-token',
          'x-api-key': 'header-key',
          'sec-websocket-protocol': 'chat.v1, bearer.protocol-token',
        },
        '/api/v1/ws?access_token=query-token',
      ),
    ).toEqual({ bearer: 'header-token', apiKey: 'header-key' });
  });

  it('should take a browser token from the bearer subprotocol, then the query', () => {
    expect(
      socketCredentials(
        { 'sec-websocket-protocol': 'chat.v1, bearer.protocol-token' },
        '/api/v1/ws?access_token=query-token',
      ),
    ).toEqual({ bearer: 'protocol-token', apiKey: 'protocol-token' });
    expect(socketCredentials({}, '/api/v1/ws?access_token=query-token')).toEqual({
      bearer: 'query-token',
      apiKey: 'query-token',
    });
  });

  it('should find nothing in an empty subprotocol, an empty query or a non-bearer header', () => {
    expect(
      socketCredentials(
        { authorization: 'Basic abc', 'sec-websocket-protocol': 'bearer.' },
        '/api/v1/ws?access_token=',
      ),
    ).toEqual({ bearer: undefined, apiKey: undefined });
  });
});

describe('selectProtocol', () => {
  it('should answer chat.v1 when offered, else the bearer protocol, else none', () => {
    expect(selectProtocol(new Set(['bearer.t', 'chat.v1']))).toBe('chat.v1');
    expect(selectProtocol(new Set(['other', 'bearer.t']))).toBe('bearer.t');
    expect(selectProtocol(new Set(['other']))).toBe(false);
  });
});
