// Turns a stream of frames into what a scene reacts to: a person (face id) appeared,
// changed expression, or left. Call Update on the thread that handles the events
// (Unity's main thread, in the EmotionPerceptionClient component).
using System;
using System.Collections.Generic;

namespace EmotionPerception.Client
{
    /// <summary>Face appeared / expression changed / disappeared, by face id.</summary>
    public sealed class FaceEventTracker
    {
        private readonly Dictionary<int, string> _expressions = new Dictionary<int, string>();
        private readonly List<int> _gone = new List<int>();
        private readonly HashSet<int> _seen = new HashSet<int>();

        /// <summary>A face id not in the previous frame.</summary>
        public event Action<Face> Appeared;
        /// <summary>A known face whose expression differs from its last one (face, previous expression).</summary>
        public event Action<Face, string> ExpressionChanged;
        /// <summary>A face id that was in the previous frame and is not in this one.</summary>
        public event Action<int> Disappeared;

        /// <summary>The ids in view after the last Update.</summary>
        public IEnumerable<int> InView => _expressions.Keys;

        public void Update(FaceFrame frame)
        {
            _seen.Clear();
            foreach (Face face in frame.faces ?? Array.Empty<Face>())
            {
                _seen.Add(face.id);
                if (!_expressions.TryGetValue(face.id, out string previous))
                {
                    _expressions[face.id] = face.expression;
                    Appeared?.Invoke(face);
                }
                else if (previous != face.expression)
                {
                    _expressions[face.id] = face.expression;
                    ExpressionChanged?.Invoke(face, previous);
                }
            }
            _gone.Clear();
            foreach (int id in _expressions.Keys)
                if (!_seen.Contains(id))
                    _gone.Add(id);
            foreach (int id in _gone)
            {
                _expressions.Remove(id);
                Disappeared?.Invoke(id);
            }
        }

        /// <summary>Every face leaves (the connection is gone for good).</summary>
        public void Clear() => Update(new FaceFrame { faces = Array.Empty<Face>() });
    }
}
