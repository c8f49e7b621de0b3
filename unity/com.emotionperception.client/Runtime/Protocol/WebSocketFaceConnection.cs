// The bridge's WebSocket stream (one JSON text frame per message) with .NET's
// ClientWebSocket: the Editor and desktop players. A WebGL player has no threads or
// sockets; there EmotionPerceptionClient uses the browser's WebSocket (WebGLWebSocket).
using System;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;

namespace EmotionPerception.Client
{
    /// <summary>JSON text frames over WebSocket (default ws://127.0.0.1:5001/).</summary>
    public sealed class WebSocketFaceConnection : IFaceConnection
    {
        private readonly Uri _uri;
        private readonly ClientWebSocket _socket = new ClientWebSocket();
        private readonly byte[] _buffer = new byte[16 * 1024];
        private readonly MemoryStream _message = new MemoryStream();

        public WebSocketFaceConnection(Uri uri) => _uri = uri;

        public void Open(TimeSpan timeout)
        {
            using (var cancel = new CancellationTokenSource(timeout))
            {
                try
                {
                    _socket.ConnectAsync(_uri, cancel.Token).Wait();
                }
                catch (AggregateException e)
                {
                    throw cancel.IsCancellationRequested
                        ? new TimeoutException($"no connection to {_uri} within {timeout.TotalSeconds:0.#} s")
                        : (Exception)new IOException($"cannot connect to {_uri}: {e.InnerException?.Message}");
                }
            }
            Send(Schema.ClientHello);
        }

        public string Receive(TimeSpan timeout)
        {
            _message.SetLength(0);
            using (var cancel = new CancellationTokenSource(timeout))
            {
                while (true)
                {
                    WebSocketReceiveResult result;
                    try
                    {
                        result = _socket.ReceiveAsync(new ArraySegment<byte>(_buffer), cancel.Token).Result;
                    }
                    catch (AggregateException e)
                    {
                        if (cancel.IsCancellationRequested)
                            throw new TimeoutException($"nothing from {_uri} for {timeout.TotalSeconds:0.#} s");
                        throw new IOException($"{_uri}: {e.InnerException?.Message}");
                    }
                    if (result.MessageType == WebSocketMessageType.Close)
                        return null;
                    _message.Write(_buffer, 0, result.Count);
                    if (result.EndOfMessage)
                        return Encoding.UTF8.GetString(_message.GetBuffer(), 0, (int)_message.Length);
                }
            }
        }

        public void Send(string message)
        {
            var bytes = new ArraySegment<byte>(Encoding.UTF8.GetBytes(message));
            _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None).Wait();
        }

        public void Dispose()
        {
            try
            {
                _socket.Abort();
            }
            finally
            {
                _socket.Dispose();
            }
        }
    }
}
