export { ClusterHealthCard, ClusterHealthContent } from './ClusterHealthCard';
export { ClusterHealthList } from './ClusterHealthList';
