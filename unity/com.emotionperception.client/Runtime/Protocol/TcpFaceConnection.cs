// The bridge's TCP stream: newline-delimited JSON, read with no fixed buffer size.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using System.Text;

namespace EmotionPerception.Client
{
    /// <summary>JSON lines over TCP (host:port, default 127.0.0.1:5000).</summary>
    public sealed class TcpFaceConnection : IFaceConnection
    {
        private readonly string _host;
        private readonly int _port;
        private readonly LineFramer _framer = new LineFramer();
        private readonly Queue<string> _lines = new Queue<string>();
        private readonly byte[] _buffer = new byte[16 * 1024];
        private TcpClient _tcp;
        private NetworkStream _stream;

        public TcpFaceConnection(string host, int port)
        {
            _host = host;
            _port = port;
        }

        public void Open(TimeSpan timeout)
        {
            _tcp = new TcpClient { NoDelay = true };
            if (!_tcp.ConnectAsync(_host, _port).Wait(timeout))
                throw new TimeoutException($"no connection to {_host}:{_port} within {timeout.TotalSeconds:0.#} s");
            _stream = _tcp.GetStream();
            Send(Schema.ClientHello);
        }

        public string Receive(TimeSpan timeout)
        {
            _tcp.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            while (_lines.Count == 0)
            {
                int count;
                try
                {
                    count = _stream.Read(_buffer, 0, _buffer.Length);
                }
                catch (IOException e) when (e.InnerException is SocketException s
                                            && s.SocketErrorCode == SocketError.TimedOut)
                {
                    throw new TimeoutException($"nothing from {_host}:{_port} for {timeout.TotalSeconds:0.#} s");
                }
                if (count == 0)
                    return null;
                foreach (string line in _framer.Push(_buffer, count))
                    if (line.Length > 0)
                        _lines.Enqueue(line);
            }
            return _lines.Dequeue();
        }

        public void Send(string message)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(message + "\n");
            _stream.Write(bytes, 0, bytes.Length);
        }

        public void Dispose()
        {
            _stream?.Dispose();
            _tcp?.Close();
        }
    }
}
