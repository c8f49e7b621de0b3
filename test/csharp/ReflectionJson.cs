// A JSON parser for the tests outside Unity, standing in for JsonUtility: public fields of
// [Serializable] classes, by name; unknown keys skipped; one document, nothing after it.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using System.Text;
using EmotionPerception.Client;

namespace EmotionPerception.Client.Tests
{
    public sealed class ReflectionJson : IJsonParser
    {
        public T FromJson<T>(string json)
        {
            int i = 0;
            object tree = Value(json, ref i);
            Skip(json, ref i);
            if (i != json.Length)
                throw new FormatException($"text after the document at {i}");
            return (T)Convert(tree, typeof(T));
        }

        private static object Convert(object value, Type type)
        {
            if (value == null)
                return null;
            if (type == typeof(string))
                return (string)value;
            if (type == typeof(bool))
                return (bool)value;
            if (type.IsPrimitive)
                return System.Convert.ChangeType((double)value, type, CultureInfo.InvariantCulture);
            if (type.IsArray)
            {
                var items = (List<object>)value;
                Array array = Array.CreateInstance(type.GetElementType(), items.Count);
                for (int k = 0; k < items.Count; k++)
                    array.SetValue(Convert(items[k], type.GetElementType()), k);
                return array;
            }
            var fields = (Dictionary<string, object>)value;
            object result = Activator.CreateInstance(type);
            foreach (FieldInfo field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
                if (fields.TryGetValue(field.Name, out object v))
                    field.SetValue(result, Convert(v, field.FieldType));
            return result;
        }

        private static void Skip(string s, ref int i)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i]))
                i++;
        }

        private static object Value(string s, ref int i)
        {
            Skip(s, ref i);
            if (i >= s.Length)
                throw new FormatException("the document ends early");
            char c = s[i];
            if (c == '{')
            {
                var obj = new Dictionary<string, object>();
                i++;
                Skip(s, ref i);
                if (s[i] == '}') { i++; return obj; }
                while (true)
                {
                    Skip(s, ref i);
                    string key = (string)Value(s, ref i);
                    Skip(s, ref i);
                    Expect(s, ref i, ':');
                    obj[key] = Value(s, ref i);
                    Skip(s, ref i);
                    if (s[i] == ',') { i++; continue; }
                    Expect(s, ref i, '}');
                    return obj;
                }
            }
            if (c == '[')
            {
                var list = new List<object>();
                i++;
                Skip(s, ref i);
                if (s[i] == ']') { i++; return list; }
                while (true)
                {
                    list.Add(Value(s, ref i));
                    Skip(s, ref i);
                    if (s[i] == ',') { i++; continue; }
                    Expect(s, ref i, ']');
                    return list;
                }
            }
            if (c == '"')
            {
                var text = new StringBuilder();
                i++;
                while (s[i] != '"')
                {
                    if (s[i] == '\\')
                    {
                        i++;
                        char e = s[i];
                        if (e == 'u') { text.Append((char)int.Parse(s.Substring(i + 1, 4), NumberStyles.HexNumber)); i += 4; }
                        else text.Append(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e);
                    }
                    else text.Append(s[i]);
                    i++;
                }
                i++;
                return text.ToString();
            }
            if (s.Substring(i).StartsWith("true")) { i += 4; return true; }
            if (s.Substring(i).StartsWith("false")) { i += 5; return false; }
            if (s.Substring(i).StartsWith("null")) { i += 4; return null; }
            int start = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0)
                i++;
            if (i == start)
                throw new FormatException($"unexpected '{c}' at {i}");
            return double.Parse(s.Substring(start, i - start), CultureInfo.InvariantCulture);
        }

        private static void Expect(string s, ref int i, char c)
        {
            if (i >= s.Length || s[i] != c)
                throw new FormatException($"expected '{c}' at {i}");
            i++;
        }
    }
}
