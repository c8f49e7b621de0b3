// JSON to the message classes. Unity uses JsonUtility (UnityJsonParser); tests outside
// Unity bring their own, so that this protocol code needs no UnityEngine.
namespace EmotionPerception.Client
{
    /// <summary>Parses one JSON document into a [Serializable] class with public fields.</summary>
    public interface IJsonParser
    {
        T FromJson<T>(string json);
    }
}
