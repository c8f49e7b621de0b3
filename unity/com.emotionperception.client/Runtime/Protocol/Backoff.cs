// Reconnect delays: quick at first, doubling, capped, so a bridge that restarts is found
// again within a second and a bridge that is gone for hours costs nothing.
using System;

namespace EmotionPerception.Client
{
    /// <summary>Capped exponential backoff.</summary>
    public sealed class Backoff
    {
        private readonly TimeSpan _first;
        private readonly TimeSpan _cap;
        private TimeSpan _next;

        public Backoff(TimeSpan first, TimeSpan cap)
        {
            _first = first;
            _cap = cap;
            _next = first;
        }

        /// <summary>The delay before the next attempt; each call doubles it up to the cap.</summary>
        public TimeSpan Next()
        {
            TimeSpan delay = _next;
            _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, _cap.Ticks));
            return delay;
        }

        /// <summary>Back to the first delay (after a connection worked).</summary>
        public void Reset() => _next = _first;
    }
}
