// The messages of the emotion_perception bridge (schema "emotion_perception.faces", version 1).
// Public fields named as the JSON keys, flat arrays and no properties: what Unity's
// JsonUtility reads. No UnityEngine here, so this code is tested outside Unity too.
using System;

namespace EmotionPerception.Client
{
    /// <summary>The first message of a full-stream connection: what follows, in which version.</summary>
    [Serializable]
    public class Hello
    {
        public string type;
        public string schema;
        public int schemaVersion;
        public string[] expressions;
    }

    /// <summary>A face box in image pixels (top-left corner, width, height).</summary>
    [Serializable]
    public class Position
    {
        public int x;
        public int y;
        public int width;
        public int height;
    }

    /// <summary>Head rotation in degrees (see FaceExpression.msg for the signs).</summary>
    [Serializable]
    public class HeadPose
    {
        public float yaw;
        public float pitch;
        public float roll;
    }

    /// <summary>One tracked face in one frame.</summary>
    [Serializable]
    public class Face
    {
        /// <summary>Stable while the person stays in view.</summary>
        public int id;
        public int expressionIdx;
        public string expression;
        public float confidence;
        /// <summary>Seven scores in the order of <see cref="Hello.expressions"/>.</summary>
        public float[] scores;
        public Position position;
        /// <summary>68 points, flat: x0, y0, x1, y1, ...</summary>
        public float[] landmarks;
        public bool hasHeadPose;
        public HeadPose headPose;
        public float valence;
        public float arousal;
    }

    /// <summary>All faces of one camera frame.</summary>
    [Serializable]
    public class FaceFrame
    {
        public string type;
        public long frame;
        /// <summary>Camera time, Unix seconds. A double: a float is off by up to a minute.</summary>
        public double stamp;
        public int imageWidth;
        public int imageHeight;
        public int faceCount;
        public Face[] faces;
    }

    /// <summary>Only the "type" of a message, to tell hello from frames.</summary>
    [Serializable]
    public class MessageType
    {
        public string type;
    }

    /// <summary>What this client package speaks.</summary>
    public static class Schema
    {
        public const string Name = "emotion_perception.faces";
        public const int Version = 1;
        /// <summary>Sent first: asks the server for the full stream (not the original script's).</summary>
        public const string ClientHello = "{\"type\":\"hello\",\"schemaVersion\":1}";
        /// <summary>Asks for the newest frame, once (on-request delivery).</summary>
        public const string Next = "{\"type\":\"next\"}";

        /// <summary>Null if the server's hello is one this client reads; else why not.</summary>
        public static string Mismatch(Hello hello)
        {
            if (hello == null || hello.type != "hello")
                return "the server did not start with a hello message; is this an emotion_perception bridge?";
            if (hello.schema != Name)
                return $"the server speaks schema '{hello.schema}', this client '{Name}'";
            if (hello.schemaVersion != Version)
                return $"the server speaks schema version {hello.schemaVersion}, this client {Version}; update the package";
            return null;
        }
    }
}
