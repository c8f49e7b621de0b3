// One connection to the bridge, over TCP lines or WebSocket frames: the client loop in
// FaceStreamClient does not care which.
using System;

namespace EmotionPerception.Client
{
    /// <summary>A connected bridge: one JSON message at a time, and requests back.</summary>
    public interface IFaceConnection : IDisposable
    {
        /// <summary>Connect and say hello (asks for the full stream), within the timeout.</summary>
        void Open(TimeSpan timeout);

        /// <summary>The next whole message; null when the bridge closed the connection.
        /// Throws TimeoutException when nothing arrives within the timeout.</summary>
        string Receive(TimeSpan timeout);

        /// <summary>Send one message (e.g. Schema.Next).</summary>
        void Send(string message);
    }
}
