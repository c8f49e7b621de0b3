// The hand-off from the background reader to Unity's main thread: only the newest frame
// is kept, so a slow frame rate in the scene never builds up a backlog.
namespace EmotionPerception.Client
{
    /// <summary>A one-item, thread-safe, newest-wins mailbox.</summary>
    public sealed class NewestSlot<T> where T : class
    {
        private readonly object _lock = new object();
        private T _item;
        private long _replaced;

        /// <summary>Items overwritten before anyone took them.</summary>
        public long Replaced { get { lock (_lock) return _replaced; } }

        public void Put(T item)
        {
            lock (_lock)
            {
                if (_item != null)
                    _replaced++;
                _item = item;
            }
        }

        /// <summary>The newest item, or null if none arrived since the last call.</summary>
        public T Take()
        {
            lock (_lock)
            {
                T item = _item;
                _item = null;
                return item;
            }
        }
    }
}
