apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-tiny
  labels:
    app.kubernetes.io/name: tiny
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  selector:
    app.kubernetes.io/name: tiny
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: http
      port: 80
      targetPort: http
