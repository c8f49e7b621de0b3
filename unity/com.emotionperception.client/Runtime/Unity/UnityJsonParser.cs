// JSON in Unity: JsonUtility, which reads the message classes' public fields.
using UnityEngine;

namespace EmotionPerception.Client
{
    /// <summary>The IJsonParser of Unity players and the Editor.</summary>
    public sealed class UnityJsonParser : IJsonParser
    {
        public T FromJson<T>(string json) => JsonUtility.FromJson<T>(json);
    }
}
