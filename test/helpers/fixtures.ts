/** The example from the ECS material the project starts from; it must register and run unchanged. */
export const WEBSERVER = {
  family: "webserver",
  containerDefinitions: [{ name: "web", image: "nginx", memory: "100", cpu: "99" }],
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  memory: "512",
  cpu: "256",
};

/**
 * A long-running container of the test image that exits at once on SIGTERM, so StopTask and
 * rollouts do not wait out a stop timeout.
 */
export const QUICK_STOP_SERVER = {
  name: "web",
  image: "flotilla/busybox:test",
  memory: 32,
  essential: true,
  command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
  stopTimeout: 2,
};

/**
 * A service's web task: busybox httpd on container port 80 (port mapping "http", a dynamic host
 * port) answering `served-by-<container hostname>`, so a client can tell which task answered.
 */
export const servedByWeb = (family: string) => ({
  family,
  containerDefinitions: [
    {
      name: "web",
      image: "flotilla/busybox:test",
      memory: 32,
      essential: true,
      stopTimeout: 2,
      portMappings: [{ name: "http", containerPort: 80, hostPort: 0, protocol: "tcp" }],
      command: ["sh", "-c", "mkdir -p /www && echo served-by-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www"],
    },
  ],
});
