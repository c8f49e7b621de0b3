// Unity WebGL has neither threads nor sockets: the browser's WebSocket (the .jslib in
// Plugins/WebGL) keeps the newest message, and this class polls it from Update, with the
// same hello check and capped reconnect backoff as FaceStreamClient.
#if UNITY_WEBGL && !UNITY_EDITOR
using System;
using System.Runtime.InteropServices;
using UnityEngine;

namespace EmotionPerception.Client
{
    /// <summary>The bridge's WebSocket stream in a WebGL player, polled on the main thread.</summary>
    public sealed class WebGLWebSocket : IDisposable
    {
        [DllImport("__Internal")] private static extern int EmotionPerception_Open(string url, string hello);
        [DllImport("__Internal")] private static extern int EmotionPerception_State(int socket);
        [DllImport("__Internal")] private static extern string EmotionPerception_Hello(int socket);
        [DllImport("__Internal")] private static extern string EmotionPerception_Newest(int socket);
        [DllImport("__Internal")] private static extern void EmotionPerception_Send(int socket, string message);
        [DllImport("__Internal")] private static extern void EmotionPerception_Close(int socket);

        private const int Open = 1, Closed = 3;
        private readonly string _url;
        private readonly IJsonParser _json;
        private readonly Backoff _backoff = new Backoff(TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(5));
        private int _socket = -1;
        private float _retryAt;
        private bool _helloChecked;

        public WebGLWebSocket(string url, IJsonParser json)
        {
            _url = url;
            _json = json;
        }

        /// <summary>Call every frame: reconnects when needed; the newest frame, or null.</summary>
        public FaceFrame Poll()
        {
            if (_socket < 0 || EmotionPerception_State(_socket) == Closed)
            {
                if (Time.realtimeSinceStartup < _retryAt)
                    return null;
                if (_socket >= 0)
                    EmotionPerception_Close(_socket);
                _retryAt = Time.realtimeSinceStartup + (float)_backoff.Next().TotalSeconds;
                _socket = EmotionPerception_Open(_url, Schema.ClientHello);
                _helloChecked = false;
                return null;
            }
            if (EmotionPerception_State(_socket) != Open)
                return null;
            if (!_helloChecked)
            {
                string hello = EmotionPerception_Hello(_socket);
                if (string.IsNullOrEmpty(hello))
                    return null;
                string mismatch = Schema.Mismatch(_json.FromJson<Hello>(hello));
                if (mismatch != null)
                    Debug.LogWarning($"EmotionPerception: {mismatch}");
                _helloChecked = true;
                _backoff.Reset();
            }
            string message = EmotionPerception_Newest(_socket);
            return string.IsNullOrEmpty(message) ? null : _json.FromJson<FaceFrame>(message);
        }

        public void RequestNext()
        {
            if (_socket >= 0 && EmotionPerception_State(_socket) == Open)
                EmotionPerception_Send(_socket, Schema.Next);
        }

        public void Dispose()
        {
            if (_socket >= 0)
                EmotionPerception_Close(_socket);
            _socket = -1;
        }
    }
}
#endif
