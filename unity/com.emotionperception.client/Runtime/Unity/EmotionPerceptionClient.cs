// The component a scene adds: connects to the emotion_perception bridge, hands the newest
// frame to the main thread, and raises events per face. Reading, reconnecting and parsing
// run on a background thread (WebGL: the browser's WebSocket, polled); everything of
// Unity, events included, happens in Update on the main thread.
using System;
using UnityEngine;
using UnityEngine.Events;

namespace EmotionPerception.Client
{
    [Serializable] public class FrameEvent : UnityEvent<FaceFrame> { }
    [Serializable] public class FaceEvent : UnityEvent<Face> { }
    [Serializable] public class FaceChangedEvent : UnityEvent<Face, string> { }
    [Serializable] public class FaceIdEvent : UnityEvent<int> { }

    /// <summary>How the component reaches the bridge.</summary>
    public enum Transport
    {
        /// <summary>JSON lines over TCP (port 5000); desktop players and the Editor.</summary>
        Tcp,
        /// <summary>WebSocket (port 5001); always used in WebGL builds.</summary>
        WebSocket,
    }

    [AddComponentMenu("Emotion Perception/Emotion Perception Client")]
    public sealed class EmotionPerceptionClient : MonoBehaviour
    {
        [Tooltip("Address of the machine running the unity_bridge node")]
        public string host = "127.0.0.1";
        public Transport transport = Transport.Tcp;
        public int tcpPort = 5000;
        public int webSocketPort = 5001;
        [Tooltip("Ask for each frame instead of receiving all: for scenes slower than the camera")]
        public bool onRequest;

        [Tooltip("A new frame arrived (the newest since the last Update)")]
        public FrameEvent frameArrived = new FrameEvent();
        [Tooltip("A face id came into view")]
        public FaceEvent faceAppeared = new FaceEvent();
        [Tooltip("A face changed expression (face, previous expression)")]
        public FaceChangedEvent expressionChanged = new FaceChangedEvent();
        [Tooltip("A face id left the view")]
        public FaceIdEvent faceDisappeared = new FaceIdEvent();

        private readonly FaceEventTracker _tracker = new FaceEventTracker();
        private readonly IJsonParser _json = new UnityJsonParser();
#if UNITY_WEBGL && !UNITY_EDITOR
        private WebGLWebSocket _client;
#else
        private FaceStreamClient _client;
#endif

        /// <summary>The newest frame handed to the scene, or null before the first.</summary>
        public FaceFrame Latest { get; private set; }

        private void Awake()
        {
            _tracker.Appeared += face => faceAppeared.Invoke(face);
            _tracker.ExpressionChanged += (face, previous) => expressionChanged.Invoke(face, previous);
            _tracker.Disappeared += id => faceDisappeared.Invoke(id);
        }

        private void OnEnable()
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            _client = new WebGLWebSocket($"ws://{host}:{webSocketPort}/", _json);
#else
            Func<IFaceConnection> connect = transport == Transport.WebSocket
                ? (Func<IFaceConnection>)(() => new WebSocketFaceConnection(new Uri($"ws://{host}:{webSocketPort}/")))
                : () => new TcpFaceConnection(host, tcpPort);
            _client = new FaceStreamClient(connect, _json, new ClientOptions { OnRequest = onRequest });
            _client.Start();
#endif
        }

        private void Update()
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            FaceFrame frame = _client.Poll();
#else
            while (_client.Warnings.TryDequeue(out string warning))
                Debug.LogWarning($"EmotionPerception: {warning}", this);
            FaceFrame frame = _client.Frames.Take();
#endif
            if (onRequest)
                _client.RequestNext();
            if (frame == null)
                return;
            Latest = frame;
            frameArrived.Invoke(frame);
            _tracker.Update(frame);
        }

        private void OnDisable() => Shutdown();

        private void OnApplicationQuit() => Shutdown();

        private void Shutdown()
        {
            if (_client == null)
                return;
#if UNITY_WEBGL && !UNITY_EDITOR
            _client.Dispose();
#else
            _client.Stop();
#endif
            _client = null;
            _tracker.Clear();
        }
    }
}
