// The client loop, on a background thread: connect, check the server's hello, read frames
// into a newest-wins slot, and on any failure reconnect with capped backoff. Nothing of
// Unity is touched here; the main thread takes frames with Frames.Take().
using System;
using System.Collections.Concurrent;
using System.Threading;

namespace EmotionPerception.Client
{
    /// <summary>Where the client is in its life.</summary>
    public enum ConnectionState
    {
        Stopped,
        Connecting,
        Connected,
        WaitingToReconnect,
    }

    /// <summary>Timeouts and backoff of a FaceStreamClient.</summary>
    public sealed class ClientOptions
    {
        public TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);
        /// <summary>No message for this long and the connection is taken as dead.</summary>
        public TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
        public TimeSpan FirstRetry = TimeSpan.FromSeconds(0.25);
        public TimeSpan LongestRetry = TimeSpan.FromSeconds(5);
        /// <summary>Receive a frame only when asked (RequestNext), the newest then: for scenes
        /// slower than the camera, which would otherwise read old frames from the socket.</summary>
        public bool OnRequest;
    }

    /// <summary>A background reader of the bridge's frames; safe to Start and Stop from any thread.</summary>
    public sealed class FaceStreamClient : IDisposable
    {
        private readonly Func<IFaceConnection> _connect;
        private readonly IJsonParser _json;
        private readonly ClientOptions _options;
        private readonly ManualResetEvent _stop = new ManualResetEvent(false);
        private readonly object _lock = new object();
        private Thread _thread;
        private IFaceConnection _connection;
        private string _lastProblem;
        private long _framesReceived, _parseFailures, _connections;
        private volatile ConnectionState _state = ConnectionState.Stopped;

        public FaceStreamClient(Func<IFaceConnection> connect, IJsonParser json, ClientOptions options = null)
        {
            _connect = connect;
            _json = json;
            _options = options ?? new ClientOptions();
        }

        /// <summary>The newest frame for the main thread.</summary>
        public NewestSlot<FaceFrame> Frames { get; } = new NewestSlot<FaceFrame>();

        /// <summary>Problems worth a warning (one per distinct problem), for the main thread to log.</summary>
        public ConcurrentQueue<string> Warnings { get; } = new ConcurrentQueue<string>();

        public ConnectionState State => _state;
        public long FramesReceived => Interlocked.Read(ref _framesReceived);
        public long ParseFailures => Interlocked.Read(ref _parseFailures);
        public long Connections => Interlocked.Read(ref _connections);

        public void Start()
        {
            if (_thread != null)
                return;
            _stop.Reset();
            _thread = new Thread(Run) { IsBackground = true, Name = "EmotionPerception reader" };
            _thread.Start();
        }

        /// <summary>Close the connection and end the thread (within about a second).</summary>
        public void Stop()
        {
            if (_thread == null)
                return;
            _stop.Set();
            lock (_lock)
                _connection?.Dispose();
            _thread.Join(TimeSpan.FromSeconds(2));
            _thread = null;
            _state = ConnectionState.Stopped;
        }

        public void Dispose() => Stop();

        /// <summary>With OnRequest: ask for the newest frame (call when ready for one).</summary>
        public void RequestNext()
        {
            lock (_lock)
            {
                try
                {
                    if (_state == ConnectionState.Connected)
                        _connection?.Send(Schema.Next);
                }
                catch (Exception e)
                {
                    Warn(e.Message);
                }
            }
        }

        private void Run()
        {
            var backoff = new Backoff(_options.FirstRetry, _options.LongestRetry);
            while (!_stop.WaitOne(0))
            {
                _state = ConnectionState.Connecting;
                try
                {
                    lock (_lock)
                        _connection = _connect();
                    _connection.Open(_options.ConnectTimeout);
                    CheckHello(_connection.Receive(_options.ReadTimeout));
                    Interlocked.Increment(ref _connections);
                    _state = ConnectionState.Connected;
                    _lastProblem = null;
                    backoff.Reset();
                    ReadFrames(_connection);
                    Warn("the bridge closed the connection; reconnecting");
                }
                catch (Exception e) when (!_stop.WaitOne(0))
                {
                    Warn(e.Message);
                }
                catch (Exception)
                {
                    // stopping: the connection was closed under the reader on purpose
                }
                finally
                {
                    lock (_lock)
                    {
                        _connection?.Dispose();
                        _connection = null;
                    }
                }
                if (_stop.WaitOne(0))
                    break;
                _state = ConnectionState.WaitingToReconnect;
                _stop.WaitOne(backoff.Next());
            }
        }

        private void CheckHello(string message)
        {
            Hello hello = null;
            try
            {
                hello = message == null ? null : _json.FromJson<Hello>(message);
            }
            catch (Exception)
            {
                // reported below as a missing hello
            }
            string mismatch = Schema.Mismatch(hello);
            if (mismatch != null)
                Warn(mismatch);
        }

        private void ReadFrames(IFaceConnection connection)
        {
            if (_options.OnRequest)
                connection.Send(Schema.Next);
            string message;
            while ((message = connection.Receive(_options.ReadTimeout)) != null)
            {
                FaceFrame frame;
                try
                {
                    frame = _json.FromJson<FaceFrame>(message);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref _parseFailures);
                    Warn($"a message did not parse ({e.Message}); skipped");
                    continue;
                }
                if (frame == null || frame.type != "faces")
                    continue;
                Interlocked.Increment(ref _framesReceived);
                Frames.Put(frame);
            }
        }

        private void Warn(string problem)
        {
            if (problem == _lastProblem)
                return;
            _lastProblem = problem;
            Warnings.Enqueue(problem);
        }
    }
}
