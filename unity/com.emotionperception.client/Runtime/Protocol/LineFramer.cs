// Newline framing over a byte stream, with no fixed buffer size: a frame of any length
// (eight faces are about 9 KB) comes out whole, and two frames in one read come out as two.
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace EmotionPerception.Client
{
    /// <summary>Bytes in as they arrive; complete lines out.</summary>
    public sealed class LineFramer
    {
        private readonly MemoryStream _partial = new MemoryStream();

        /// <summary>Add received bytes; returns the lines they complete (without the newline).</summary>
        public List<string> Push(byte[] buffer, int count)
        {
            var lines = new List<string>();
            int start = 0;
            for (int i = 0; i < count; i++)
            {
                if (buffer[i] != (byte)'\n')
                    continue;
                _partial.Write(buffer, start, i - start);
                lines.Add(Encoding.UTF8.GetString(_partial.GetBuffer(), 0, (int)_partial.Length).TrimEnd('\r'));
                _partial.SetLength(0);
                start = i + 1;
            }
            _partial.Write(buffer, start, count - start);
            return lines;
        }

        /// <summary>Forget a partial line (after a reconnect).</summary>
        public void Reset() => _partial.SetLength(0);
    }
}
